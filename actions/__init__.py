"""Custom actions for the mutual-aid bot, written with rasa-sdk.

The same package runs in process (through rasa-sdk's ActionExecutor) and under
`python -m rasa_sdk --actions actions`.
"""
