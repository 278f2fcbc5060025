"""Membership rules: what a member owes, what a payment covers, how a name is masked.

Pure functions over plain values; nothing here touches Kafka, HTTP or the store.
"""
