package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// jsonRoundTripErr turns a document of flags into an SDK type.
func jsonRoundTripErr(doc map[string]any, v any) error {
	raw, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

func newLineReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }

// completion prints a shell completion script.
func (c *cli) completion(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("completion: want bash, zsh or fish")
	}
	var top []string
	for _, name := range []string{"serve", "bootstrap", "signing-key", "version", "help"} {
		top = append(top, name)
	}
	for _, cmd := range commands {
		top = append(top, cmd.name)
	}
	common := "--profile --json --help"
	switch args[0] {
	case "bash":
		var b strings.Builder
		fmt.Fprintf(&b, `# bash completion for audian: source <(audian completion bash)
_audian() {
	local cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]}
	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W %q -- "$cur"))
		return
	fi
	case "$cmd" in
`, strings.Join(top, " "))
		for _, cmd := range commands {
			fmt.Fprintf(&b, "\t%s)\n\t\tif [ \"$COMP_CWORD\" -eq 2 ]; then COMPREPLY=($(compgen -W %q -- \"$cur\")); return; fi\n\t\tCOMPREPLY=($(compgen -W %q -- \"$cur\"));;\n",
				cmd.name, strings.Join(append(append([]string{}, cmd.subs...), strings.Fields(common)...), " "), common+" --account")
		}
		b.WriteString("\tsigning-key) COMPREPLY=($(compgen -W \"rotate\" -- \"$cur\"));;\n\tesac\n}\ncomplete -F _audian audian\n")
		_, err := io.WriteString(c.stdout, b.String())
		return err
	case "zsh":
		var b strings.Builder
		b.WriteString("#compdef audian\n# zsh completion for audian: audian completion zsh > \"${fpath[1]}/_audian\"\n_audian() {\n\tlocal -a subs\n\tif (( CURRENT == 2 )); then\n")
		fmt.Fprintf(&b, "\t\tcompadd -- %s\n\t\treturn\n\tfi\n\tcase $words[2] in\n", strings.Join(top, " "))
		for _, cmd := range commands {
			fmt.Fprintf(&b, "\t%s) if (( CURRENT == 3 )); then compadd -- %s %s; else compadd -- %s --account; fi;;\n",
				cmd.name, strings.Join(cmd.subs, " "), common, common)
		}
		b.WriteString("\tsigning-key) compadd -- rotate;;\n\tesac\n}\ncompdef _audian audian\n")
		_, err := io.WriteString(c.stdout, b.String())
		return err
	case "fish":
		var b strings.Builder
		b.WriteString("# fish completion for audian: audian completion fish > ~/.config/fish/completions/audian.fish\n")
		fmt.Fprintf(&b, "complete -c audian -f -n __fish_use_subcommand -a %q\n", strings.Join(top, " "))
		for _, cmd := range commands {
			if len(cmd.subs) > 0 {
				fmt.Fprintf(&b, "complete -c audian -f -n '__fish_seen_subcommand_from %s' -a %q\n", cmd.name, strings.Join(cmd.subs, " "))
			}
		}
		b.WriteString("complete -c audian -l profile -d 'the profile to use' -r\ncomplete -c audian -l json -d 'print JSON'\ncomplete -c audian -l account -d 'the account id' -r\n")
		_, err := io.WriteString(c.stdout, b.String())
		return err
	}
	return fmt.Errorf("completion: unknown shell %q: want bash, zsh or fish", args[0])
}
