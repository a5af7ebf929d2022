"""Natural-language understanding: Rasa's pipeline components, built on scikit-learn."""
