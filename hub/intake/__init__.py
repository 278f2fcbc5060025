"""Partner intake: turn a validated partner request into a durable canonical event, once."""
