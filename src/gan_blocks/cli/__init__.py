"""The `gan-blocks` console command (`gan-blocks evaluate ...`)."""
