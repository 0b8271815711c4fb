# The noise bank's recordings (config noise). Called from sources.smk.


def noise_files():
    """The noise recordings of the noise bank (None: the config has no noise bank)."""
    noise = config.get("noise")
    if noise is None:
        return None
    root = Path(noise["audio_dir"])
    if noise["source"] == "synthetic":
        return [str(root / f"noise_{i:02d}.wav") for i in range(noise["n_recordings"])]
    files = [str(p) for p in list_files(root, AUDIO_EXTENSIONS).files]
    if not files:
        raise WorkflowError(
            f"noise.audio_dir={noise['audio_dir']!r} holds no audio files"
        )
    return files
