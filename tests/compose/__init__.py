"""The stack of docker-compose.yaml, driven through Docker as its users drive it."""
