"""anuraflow against its peers (OpenSoundscape, BirdNET-Analyzer's loop) in one run on one
machine."""
