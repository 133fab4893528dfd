"""Getting a table in: readers, databases, fake datasets, schema, profiling, split."""
