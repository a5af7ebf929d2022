"""The mutual-aid referral bot: engine, channels, storage and command line."""
