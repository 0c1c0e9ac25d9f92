"""automl_backend."""
