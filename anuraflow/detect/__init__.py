"""Detection on new recordings: streamed scoring with a model bundle, selections, Raven tables,
calling activity."""
