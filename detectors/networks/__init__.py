"""Network definitions shared by the deep detectors."""
