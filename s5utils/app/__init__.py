"""A trained run as an app: `python -m s5utils app RUN_DIR` serves its model in Gradio.

    loading     a run folder -> its model (the class it recorded), record, device, precision, normalisation
    preprocess  a drawing or picture made MNIST-like: inverted if light, cropped, 20x20, centred in 28x28
    inference   class probabilities and top k for one digit, GradCAM over it
    testset     example digits and the run's mistakes, from the MNIST test set or an exported Space's files
    server      the Gradio Blocks app (api_name="/predict") and serve(), which checks the port first
    export      the Space folder of a run: app.py, requirements.txt, README.md with the Space's metadata
    cli         `python -m s5utils app ...`: its parser and the function that runs it

Imports every layer up to s5utils.runs (the records), nothing above; gradio only when an app is built.
"""
