"""What operators do: dead letters, callbacks, stuck requests, member changes, all audited."""
