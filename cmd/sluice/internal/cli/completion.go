package cli

import (
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Shells for which Completion writes a script.
var Shells = []string{"bash", "zsh", "fish"}

// compNode is one command's completion data: its words, flags and
// subcommands, read from the same Command values dispatch uses, so the
// scripts cannot drift from the flags the program accepts.
type compNode struct {
	path     []string // command words, e.g. ["state", "forget"]
	synopsis string
	flags    []*flag.Flag
	subs     []*compNode
}

func (a *App) compTree(path []string, cmds []*Command) []*compNode {
	var out []*compNode
	for _, c := range cmds {
		n := &compNode{path: append(append([]string{}, path...), c.Name), synopsis: c.Synopsis}
		if c.Setup != nil {
			fs := flag.NewFlagSet(c.Name, flag.ContinueOnError)
			c.Setup(fs)
			var common CommonFlags
			var logSet bool
			registerCommon(fs, c.Common, &common, &logSet, a.ParseSize)
			fs.VisitAll(func(f *flag.Flag) { n.flags = append(n.flags, f) })
			sort.Slice(n.flags, func(i, j int) bool { return n.flags[i].Name < n.flags[j].Name })
		}
		n.subs = a.compTree(n.path, c.Subcommands)
		out = append(out, n)
	}
	return out
}

// Completion writes the completion script for shell ("bash", "zsh" or
// "fish"): command and subcommand names, each command's flags (with their
// usage in fish), and file names for arguments.
func (a *App) Completion(w io.Writer, shell string) error {
	tree := a.compTree(nil, append(append([]*Command{}, a.Commands...), &Command{Name: "help", Synopsis: "Show help for a command"}))
	switch shell {
	case "bash":
		return a.bashCompletion(w, tree)
	case "zsh":
		// zsh runs the bash function through its bash completion layer,
		// which every zsh ships.
		fmt.Fprintf(w, "#compdef %s\nautoload -U +X bashcompinit && bashcompinit\n", a.Name)
		return a.bashCompletion(w, tree)
	case "fish":
		return a.fishCompletion(w, tree)
	}
	return fmt.Errorf("unknown shell %q (want %s)", shell, strings.Join(Shells, ", "))
}

func names(nodes []*compNode) string {
	var ns []string
	for _, n := range nodes {
		ns = append(ns, n.path[len(n.path)-1])
	}
	return strings.Join(ns, " ")
}

func flagWords(n *compNode) string {
	var ws []string
	for _, f := range n.flags {
		ws = append(ws, "-"+f.Name)
	}
	return strings.Join(ws, " ")
}

func (a *App) bashCompletion(w io.Writer, tree []*compNode) error {
	fn := "_" + a.Name + "_complete"
	var b strings.Builder
	fmt.Fprintf(&b, "# %s completion for bash: source <(%s completion bash)\n", a.Name, a.Name)
	fmt.Fprintf(&b, "%s() {\n", fn)
	b.WriteString("  local cur=\"${COMP_WORDS[COMP_CWORD]}\" cmd=\"${COMP_WORDS[1]}\" sub=\"${COMP_WORDS[2]}\" words=\"\" flags=\"\"\n")
	b.WriteString("  COMPREPLY=()\n")
	fmt.Fprintf(&b, "  if [ \"$COMP_CWORD\" -eq 1 ]; then\n    COMPREPLY=($(compgen -W %q -- \"$cur\"))\n    return\n  fi\n", names(tree))
	b.WriteString("  case \"$cmd\" in\n")
	for _, n := range tree {
		fmt.Fprintf(&b, "    %s)\n", n.path[0])
		switch {
		case n.path[0] == "help":
			fmt.Fprintf(&b, "      words=%q\n", names(tree[:len(tree)-1]))
		case len(n.subs) > 0:
			fmt.Fprintf(&b, "      if [ \"$COMP_CWORD\" -eq 2 ]; then words=%q; fi\n", names(n.subs))
			b.WriteString("      case \"$sub\" in\n")
			for _, s := range n.subs {
				fmt.Fprintf(&b, "        %s) flags=%q ;;\n", s.path[1], flagWords(s))
			}
			b.WriteString("      esac\n")
		default:
			fmt.Fprintf(&b, "      flags=%q\n", flagWords(n))
		}
		b.WriteString("      ;;\n")
	}
	b.WriteString("  esac\n")
	b.WriteString("  if [ -n \"$words\" ]; then\n    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n  elif [[ \"$cur\" == -* ]]; then\n    COMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n  else\n    COMPREPLY=($(compgen -f -- \"$cur\"))\n  fi\n}\n")
	fmt.Fprintf(&b, "complete -o default -o filenames -F %s %s\n", fn, a.Name)
	_, err := io.WriteString(w, b.String())
	return err
}

func (a *App) fishCompletion(w io.Writer, tree []*compNode) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s completion for fish: %s completion fish > ~/.config/fish/completions/%s.fish\n", a.Name, a.Name, a.Name)
	all := names(tree)
	for _, n := range tree {
		fmt.Fprintf(&b, "complete -c %s -f -n 'not __fish_seen_subcommand_from %s' -a %s -d %s\n", a.Name, all, n.path[0], fishQuote(n.synopsis))
		cond := "__fish_seen_subcommand_from " + n.path[0]
		if n.path[0] == "help" {
			for _, c := range tree[:len(tree)-1] {
				fmt.Fprintf(&b, "complete -c %s -f -n '%s' -a %s\n", a.Name, cond, c.path[0])
			}
			continue
		}
		if len(n.subs) > 0 {
			for _, s := range n.subs {
				fmt.Fprintf(&b, "complete -c %s -f -n '%s; and not __fish_seen_subcommand_from %s' -a %s -d %s\n", a.Name, cond, names(n.subs), s.path[1], fishQuote(s.synopsis))
				writeFishFlags(&b, a.Name, cond+"; and __fish_seen_subcommand_from "+s.path[1], s)
			}
			continue
		}
		writeFishFlags(&b, a.Name, cond, n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeFishFlags(b *strings.Builder, prog, cond string, n *compNode) {
	for _, f := range n.flags {
		// -o: a single-dash long option, as sluice spells its flags.
		fmt.Fprintf(b, "complete -c %s -n '%s' -o %s -d %s\n", prog, cond, f.Name, fishQuote(firstLine(f.Usage)))
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.ReplaceAll(s, "`", "")
}

func fishQuote(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}

// Completion writes the completion script of the running program.
func (inv *Invocation) Completion(w io.Writer, shell string) error {
	return inv.app.Completion(w, shell)
}
