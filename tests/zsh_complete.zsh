#!/bin/zsh -f
# What zsh completes for a command line, as an interactive zsh would (tests/test_completion.py).
#   zsh -f tests/zsh_complete.zsh FPATH_DIR 'copernica-import run --on-existing '
# Starts an interactive zsh on a pseudo-terminal (zsh/zpty), loads compinit with FPATH_DIR first
# in $fpath, types the line and a Tab, and prints every candidate the completion system adds,
# one per line. (The technique of Valodim's zsh-capture-completion, much reduced.)
zmodload zsh/zpty || { echo 'error: zsh/zpty is missing' >&2; exit 1 }
zpty z zsh -f -i
local line
setopt rcquotes
() {
    zpty -w z source $1
    repeat 4; do
        zpty -r z line
        [[ $line == ok* ]] && return
    done
    echo 'error: the interactive zsh did not start' >&2
    exit 2
} =( <<< "
PROMPT=
fpath=($1 \$fpath)
autoload -Uz compinit
compinit -u -D
bindkey '^I' complete-word
null-line () { echo -E - \$'\\0' }
compprefuncs=( null-line )
comppostfuncs=( null-line exit )
zstyle ':completion:*' list-grouped false
zstyle ':completion:*' insert-tab false
compadd () {
    if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then
        builtin compadd \"\$@\"
        return \$?
    fi
    typeset -a __hits
    builtin compadd -A __hits \"\$@\"
    local h
    for h in \$__hits; do echo -E - CANDIDATE:\$h; done
    builtin compadd \"\$@\"
}
echo ok")
zpty -w z "$2"$'\t'
integer tog=0
while zpty -r z; do :; done | while IFS= read -r line; do
    if [[ $line == *$'\0\r' ]]; then
        (( tog++ )) && exit 0 || continue
    fi
    (( tog )) && [[ $line == CANDIDATE:* ]] && echo -E - ${${line#CANDIDATE:}%$'\r'}
done
exit 2
