"""Fixtures of tests/edge: the MQTT brokers (defined in mqtt_support.py)."""

from mqtt_support import broker_port, private_broker

__all__ = ["broker_port", "private_broker"]
