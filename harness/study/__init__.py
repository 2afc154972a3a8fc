"""The study: configuration, scenarios and their arms, the pipeline of steps, results, validation between engines."""
