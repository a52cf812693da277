import tensorflow as tf

export = "runs/quickstart/student/export"  # any run's export/ directory
model = tf.saved_model.load(f"{export}/saved_model")
class_names = tf.io.read_file(f"{export}/labels.txt").numpy().decode().splitlines()
_, height, width, channels = model.serve.input_signature[0].shape  # what the student takes
image = tf.io.decode_image(tf.io.read_file("digit.png"), channels, expand_animations=False)
image = tf.image.convert_image_dtype(image, tf.float32)  # uint8 -> [0, 1]
image = tf.image.resize(image, (height, width), antialias=True)  # as the eval pipeline does
probabilities = model.serve(image[tf.newaxis])["probabilities"][0].numpy()
print(class_names[probabilities.argmax()], probabilities.max())
