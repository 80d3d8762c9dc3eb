"""Readers for the places a chain lives: moto, live AWS, Azurite and live Azure."""
