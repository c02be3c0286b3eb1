"""An example Optimizer Zoo plugin distribution."""
