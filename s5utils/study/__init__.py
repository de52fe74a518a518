"""Study tools: what a model looks like and what it gets wrong.

    summary        a torchsummary-style table of any module's leaf layers
    layer_table    shapes, parameters, MACs, receptive field and jump per layer
    architecture   a picture of the network drawn from the model itself
    mistakes       predictions, misclassified images, galleries and confusion matrices (with class names)
    gradcam        GradCAM heat maps (pytorch-grad-cam), overlays and a gallery of them, on layers of 5x5 px or more
    lr_finder      the learning-rate range test
    plots          figures made from a training history

Imports the basics, s5utils.data and s5utils.training, nothing above.
"""
