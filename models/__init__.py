"""Learned models: the TFLite beat classifier and the risk model, their training
scripts (``train`` extra) and model cards. May import ``dsp``; knows nothing of
MQTT, files or threads. (Built in the classification and risk issues.)
"""

__all__: list[str] = []
