"""The trial: randomization, endpoints, estimands, missing data, designs and analyses."""
