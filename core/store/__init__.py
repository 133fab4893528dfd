"""Where models and settings live: settings, the signing key, the model registry."""
