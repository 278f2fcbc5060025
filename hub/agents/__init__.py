"""Agents of an agency partner: community members who each sign the hub API with their own key."""
