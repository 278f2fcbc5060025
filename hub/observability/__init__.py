"""What operators see of a running hub: health, Prometheus metrics, consumer lag, logs."""
