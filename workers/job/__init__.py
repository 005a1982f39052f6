"""workers/job"""
