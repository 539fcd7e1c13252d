"""Inference layer: a trained model on your own video or frame folder, with its frame-relevance figure."""
