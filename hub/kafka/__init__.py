"""Kafka: connection options, topic topology, the acknowledged publisher, the core consumer."""
