"""bot/web"""
