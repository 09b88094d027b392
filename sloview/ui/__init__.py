"""The Streamlit layer's shared parts: loading state, sidebar filters, error display.

The only package module allowed to import streamlit; pages stay thin by calling into here
and into the pure `sloview` modules.
"""
