"""What crosses a service boundary: pydantic models both sides import, nothing else."""
