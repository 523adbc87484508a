"""The project's own demo material: generated here, so it carries no third-party licence."""
