"""bot/github"""
