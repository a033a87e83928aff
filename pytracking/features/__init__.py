"""What the trackers feed their networks: image patches cut with the training crop,
first-frame augmentations, and the network wrapper that turns patches into features."""
