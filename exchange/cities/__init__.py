"""Cities, the topic taxonomy and interests."""
