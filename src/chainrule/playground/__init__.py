"""The playground: a local web page that trains a small network on the chainrule engine and shows
backpropagation live (``chainrule playground``; needs ``pip install chainrule[playground]``)."""
