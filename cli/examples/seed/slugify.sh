#!/bin/sh
# slugify TEXT…: the text in lower case, with dashes for spaces.
printf '%s\n' "$*" | tr 'A-Z' 'a-z' | sed 's/ /-/'
