"""Trained weights read by the product (data written by the eval training scripts)."""
