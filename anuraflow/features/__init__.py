"""Log-mel caches and the one frontend (audio -> log-mels -> windows -> normalised model input)
that training, evaluation and prediction share; the training bank and batch augmentation."""
