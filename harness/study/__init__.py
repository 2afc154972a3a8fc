"""The study: its configuration, the pipeline of steps, validation between engines."""
