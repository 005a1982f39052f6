"""bot/core"""
