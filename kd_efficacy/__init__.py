"""kd_efficacy: reproducible studies of *On the Efficacy of Knowledge Distillation*
(Cho & Hariharan, ICCV 2019).

Importing the package is cheap: TensorFlow and Keras are imported by the modules that need them.
"""

__version__ = "0.1.0"
