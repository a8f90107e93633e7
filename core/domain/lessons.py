"""The course's lessons: each one's question, what to look for, what its button does, and the course's own
results to show beside a student's.

Pure data and rules: `core/services/lessons.py` checks what a lesson needs on this machine and queues its
runs; the Lessons page draws the cards. A lesson that trains names its runs here, each as an architecture
with its course recipe plus the lesson's own changes, so the page queues exactly the course's settings.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from core.domain.architectures import ARCHITECTURES

Kind = Literal["conv", "runs", "model", "augment", "sweep"]
IMAGENET_RESNET50_NOTOP = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"


@dataclass(frozen=True)
class LessonRun:
    """One run a lesson queues: an architecture, trained with its course recipe changed by `changes`."""

    architecture: str
    name: str  # the run's name: how the lesson finds a student's earlier runs of it
    changes: dict = field(default_factory=dict)  # TrainConfig fields that differ from the recipe


@dataclass(frozen=True)
class Reference:
    """The course's own published run, drawn beside a student's as a reference trace."""

    label: str
    val_accuracy: tuple[float, ...]  # per epoch, from epoch 1
    train_accuracy: tuple[tuple[int, float], ...]  # (epoch, accuracy) points the course logged
    test_accuracy: float
    seconds_per_epoch: float
    hardware: str


@dataclass(frozen=True)
class Lesson:
    """A course lesson: its question, what to look for, and what its one button does."""

    number: int
    title: str
    question: str
    look_for: str
    kind: Kind
    button: str
    runs: tuple[LessonRun, ...] = ()
    architectures: tuple[str, ...] = ()  # "conv" and "model" lessons: the architectures it shows
    needs_image_folder: bool = False  # lesson 7: an image folder of dogs and cats
    reference: Reference | None = None
    course_results: str = ""  # what the course got, in a sentence

    @property
    def key(self) -> str:
        """The lesson's URL key (`/lessons?lesson=6`)."""
        return str(self.number)


RESNET50_CIFAR100 = Reference(
    label="course's run", hardware="the course's GPU", seconds_per_epoch=70, test_accuracy=0.3465,
    val_accuracy=(0.0804, 0.1120, 0.1684, 0.1843, 0.1724, 0.2344, 0.2792, 0.2850, 0.2657, 0.2946,
                  0.3123, 0.3366, 0.3260, 0.3320, 0.3336, 0.3210, 0.3400, 0.2642, 0.3393, 0.3316),
    train_accuracy=((1, 0.0424), (20, 0.7606)))

LESSONS: tuple[Lesson, ...] = (
    Lesson(1, "Padding, stride and kernels",
           "How do padding, stride and the number of kernels change a conv layer's output?",
           "Each layer's output size beside its formula: 'same' padding keeps the side, 'valid' trims "
           "kernel − 1 pixels, and the channels are the number of kernels (stride 2 would halve the side: try "
           "it in the Models page's calculator). The feature maps show the dog photo after exactly those "
           "layers, with random, untrained kernels; a black map is a channel its ReLU zeroed everywhere.",
           "conv", "Show the three conv demos", architectures=("conv_demo_a", "conv_demo_b", "conv_demo_c")),
    Lesson(2, "Deep MLP vs small CNN on CIFAR-10",
           "Does a network with 180 times the parameters learn CIFAR-10 better?",
           "The deep MLP's 17,061,834 parameters against the small CNN's 94,698: the CNN reaches a higher "
           "validation accuracy, and the MLP's training accuracy runs away from its validation accuracy.",
           "runs", "Train both and compare",
           runs=(LessonRun("deep_mlp", "Lesson 2 · deep MLP"), LessonRun("small_cnn", "Lesson 2 · small CNN")),
           course_results="17,061,834 vs 94,698 parameters on 7,500 training / 500 test images."),
    Lesson(3, "VGG16: depth from small kernels",
           "How does VGG16 stack thirteen 3×3 convolutions, and where are its parameters?",
           "Five blocks, each ending in a 2×2 pool that halves the side; most parameters sit in the last "
           "blocks and the dense head. Open the Diagram tab for the layer graph.",
           "model", "Open VGG16 in Models", architectures=("vgg16",)),
    Lesson(4, "A small ResNet: residual blocks",
           "What does a skip connection look like, and what does it cost?",
           "In the Diagram tab each block's input goes around its two convolutions into an Add layer; the "
           "Add has no parameters of its own.",
           "model", "Open the small ResNet in Models", architectures=("small_resnet",)),
    Lesson(5, "ResNet-50 from scratch on CIFAR-100",
           "Can 23.8 million parameters learn 100 classes from 40,000 small images?",
           "Training accuracy climbs towards 76 % while validation accuracy stalls near 33 %: the gap is "
           "overfitting, a big network memorising a small dataset. The grey dotted line is the course's run.",
           "runs", "Train it beside the course's run",
           runs=(LessonRun("resnet50", "Lesson 5 · ResNet-50 from scratch",
                           {"batch_size": 20, "epochs": 20, "seed": 123, "split_mode": "random",
                            "validation_split": 0.2, "labels": "one_hot", "learning_rate": 1e-4}),),
           reference=RESNET50_CIFAR100,
           course_results="34.65 % test accuracy after 20 epochs (2,000 steps of 20 images per epoch), "
                          "70 s per epoch on the course's GPU."),
    Lesson(6, "BatchNorm in an MLP on Fashion-MNIST",
           "Does BatchNormalization make the same MLP train faster?",
           "The BatchNorm twin's loss falls faster in the first epochs and its validation accuracy is "
           "higher early on; by the end the two are close. BatchNorm adds 4 parameters per unit.",
           "runs", "Train both and compare",
           runs=(LessonRun("mlp", "Lesson 6 · MLP"), LessonRun("mlp_bn", "Lesson 6 · MLP + BatchNorm"))),
    Lesson(7, "BatchNorm + Dropout in a CNN on dogs vs cats",
           "On a small dataset, do BatchNorm and Dropout 0.5 close the gap between training and validation?",
           "The plain CNN's training accuracy climbs while its validation accuracy stalls; the regularised "
           "twin's two curves stay closer together.",
           "runs", "Train both and compare", needs_image_folder=True,
           runs=(LessonRun("basic_cnn", "Lesson 7 · basic CNN"),
                 LessonRun("basic_cnn_regularised", "Lesson 7 · CNN + BatchNorm + Dropout"))),
    Lesson(8, "Augmentation on a dog and a cat",
           "What do the course's augmentation pipelines do to a photo?",
           "The dog preset crops a random 150×200 window after resizing to 224×224; the cat preset flips and "
           "rotates by up to half a turn. Every copy is a new random draw.",
           "augment", "Show both presets"),
    Lesson(9, "Transfer learning: a frozen ImageNet ResNet-50 on CIFAR-10",
           "How far do features learnt on ImageNet carry to CIFAR-10 when only a new head is trained?",
           "Validation accuracy is high after the first epoch, far above the from-scratch ResNet-50 of "
           "lesson 5, because only the head's 20,490 weights learn.",
           "runs", "Train the transfer model",
           runs=(LessonRun("resnet50_transfer", "Lesson 9 · ResNet-50 transfer (ImageNet)"),)),
    Lesson(10, "The assignment: a hyperparameter search",
           "Which model, optimizer and learning rate reach 98.5 % on MNIST and 90.5 % on Fashion-MNIST?",
           "The checklist below ticks the eight grading points from what a sweep actually contains and "
           "reached; 7 of 8 is full marks.",
           "sweep", "Open the preset in Sweeps",
           course_results="Targets: 98.5 % test accuracy on MNIST, 90.5 % on Fashion-MNIST."),
)
BY_KEY = {lesson.key: lesson for lesson in LESSONS}


def run_settings(run: LessonRun, dataset: str | None = None) -> dict:
    """The TrainConfig fields of a lesson's run: the architecture's course recipe, the lesson's changes,
    and `dataset` when the lesson trains on one found on the machine (lesson 7's image folder)."""
    recipe = ARCHITECTURES[run.architecture].recipe
    values = dict(architecture=run.architecture, name=run.name, optimizer=recipe.optimizer,
                  learning_rate=recipe.learning_rate, batch_size=recipe.batch_size, epochs=recipe.epochs,
                  labels=recipe.labels, validation_split=recipe.validation_split, split_mode=recipe.split_mode,
                  train_subset=recipe.train_subset, test_subset=recipe.test_subset)
    if recipe.optimizer == "sgd":
        values.update(momentum=recipe.momentum, nesterov=recipe.nesterov)
    if recipe.dataset:
        values["dataset"] = recipe.dataset
    if dataset:
        values["dataset"] = dataset
    return {**values, **run.changes}


def datasets_needed(lesson: Lesson) -> tuple[str, ...]:
    """The catalog datasets a lesson's runs train on (lesson 7's image folder is found on the machine)."""
    if lesson.needs_image_folder:
        return ()
    return tuple(dict.fromkeys(run_settings(run)["dataset"] for run in lesson.runs))


def is_dogs_and_cats(class_names: tuple[str, ...]) -> bool:
    """An image folder with a dog class and a cat class (cats/, dogs/, Cat/, dog/ ...)."""
    names = {name.lower().rstrip("s") for name in class_names}
    return {"dog", "cat"} <= names
