from setuptools import find_packages, setup

setup(
    name="rllib_il",
    version="0.1.0",
    description="Imitation learning for Ray RLlib: MARWIL/BC and Ape-X DQfD from expert demonstrations.",
    long_description=open("README.md").read() if __import__("os").path.exists("README.md") else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.10,<3.13",
    packages=find_packages(include=["rllib_il", "rllib_il.*"]),
    package_data={"rllib_il": ["envs/flatland/presets/*.yaml"]},
    install_requires=[
        "ray[rllib]==2.60.*",
        # CPU wheel in CI and the quick start; a GPU user installs their own torch first.
        "torch>=2.4",
        "gymnasium==1.2.2",
        # flatland-rl 4.3 pins numpy<2; pyarrow 26 needs numpy>=2 and then `import ray.rllib` fails.
        "numpy<2",
        "pyarrow>=21,<26",
        "flatland-rl>=4.3,<5",
        "box2d==2.3.10",
        # MuJoCo tasks of gymnasium (InvertedDoublePendulum-v5) and their LQR expert; 4.0 runs with numpy 1.26.
        "mujoco>=3.2,<5",
        "pygame>=2.5",
        "msgpack-numpy>=0.4.8",
        "pyyaml>=6",
        "psutil>=5.9",
        "tqdm>=4.60",
        "rich>=13",
        "matplotlib>=3.7",
        "imageio>=2.30",
        # torch installs fsspec; without aiohttp, Ray Data's threaded file listing races on importing
        # fsspec's HTTP filesystem and RLlib's own MARWIL/BC fail on multi-file datasets (ImportError).
        "aiohttp>=3.9",
    ],
    extras_require={"test": ["pytest>=8", "ruff>=0.15"]},
    entry_points={
        "console_scripts": [
            "rllib-il-train=rllib_il.cli.train:main",
        ]
    },
)
