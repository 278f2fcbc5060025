"""The BPU Channel Hub: partner intake, Kafka publishing, the core consumer and the store."""
