package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/collect-ediscovery/collect/config"
	"github.com/collect-ediscovery/collect/custody"
	"github.com/collect-ediscovery/collect/internal/durable"
	"github.com/collect-ediscovery/collect/store"
	"github.com/hashicorp/hcl/v2"
)

const custodyHelp = `Usage: collect [global options] custody keygen -out=FILE [-name=NAME] [-json]

  Makes the ed25519 key that signs the checkpoints of the matter's custody
  log. The private key is written to FILE (mode 0600), which must be outside
  the matter folder and outside any git work tree, and must not exist. The
  public verifier key is printed: put it in the matter,

    custody {
      verifier = "collect/acme-v-globex+1a2b3c4d+AZ..."
    }

  and give collect the private key when it applies, through
  COLLECT_CUSTODY_KEY_FILE (the file) or COLLECT_CUSTODY_KEY (the key).

Options:
  -out=FILE    Where to write the private key.
  -name=NAME   The key's name (default: collect/<matter name> of the matter
               in the working folder).
  -json        Print the key file and the verifier key as JSON.
`

// CustodyKeygen holds the options of collect custody keygen.
type CustodyKeygen struct {
	Out, Name string
	JSON      bool
}

func ParseCustodyKeygen(args []string) (CustodyKeygen, hcl.Diagnostics) {
	var k CustodyKeygen
	fs := newFlagSet("custody keygen")
	fs.StringVar(&k.Out, "out", "", "")
	fs.StringVar(&k.Name, "name", "", "")
	fs.BoolVar(&k.JSON, "json", false, "")
	diags := parseFlags(fs, args)
	if len(fs.Args()) > 0 {
		diags = append(diags, tooManyArgs("custody keygen", fs.Args(), "")...)
	}
	if k.Out == "" && !diags.HasErrors() {
		diags = append(diags, errorDiag("Missing -out",
			"collect custody keygen needs -out=FILE, the file to write the private key to: outside the matter folder and any git work tree, such as ~/.config/collect/acme.key.")...)
	}
	return k, diags
}

func runCustody(s *streams, args []string) int {
	if len(args) == 0 || args[0] != "keygen" {
		if len(args) > 0 && args[0] != "-help" && args[0] != "-h" {
			s.errorf("Unknown custody subcommand", "collect custody has no subcommand %q: use collect custody keygen.", args[0])
		} else {
			fmt.Fprint(s.stderr, custodyHelp)
		}
		return exitError
	}
	opts, diags := ParseCustodyKeygen(args[1:])
	if wantsHelp(diags) {
		fmt.Fprint(s.stdout, custodyHelp)
		return exitOK
	}
	if diags.HasErrors() {
		s.writeDiags(diags, nil)
		return exitError
	}
	name := opts.Name
	matterDir := ""
	if m, _, ds := config.Load(".", config.LoadOptions{Env: s.env}); !ds.HasErrors() {
		matterDir = m.Dir
		if name == "" {
			name = custody.Origin(m.Name)
		}
	}
	if name == "" {
		s.errorf("Missing -name", "The working folder holds no matter to name the key after: give it a name with -name, such as -name=collect/acme-v-globex.")
		return exitError
	}
	if err := keyFileAllowed(opts.Out, matterDir); err != nil {
		s.errorf("Key file refused", "%s", sentence(err.Error()))
		return exitError
	}
	private, verifier, err := custody.GenerateKey(name)
	if err != nil {
		s.errorf("Cannot make the key", "%s", sentence(err.Error()))
		return exitError
	}
	if err := (durable.Options{NoReplace: true}).WriteFile(opts.Out, []byte(private+"\n"), 0o600); err != nil {
		s.errorf("Cannot write the key", "%s Nothing was written.", sentence(err.Error()))
		return exitError
	}
	newCustodyView(s, opts.JSON).Keygen(opts.Out, verifier)
	return exitOK
}

// keyFileAllowed refuses a private key file where it would travel with the
// evidence or its documentation: in the matter folder, in a git work tree,
// or over an existing file.
func keyFileAllowed(path, matterDir string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if _, err := os.Lstat(abs); err == nil {
		return fmt.Errorf("%s exists; collect never overwrites a key. Choose another -out, or remove the old key once nothing needs it", abs)
	}
	dir := filepath.Dir(abs)
	if matterDir != "" {
		if rel, err := filepath.Rel(matterDir, dir); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return fmt.Errorf("%s is inside the matter folder %s, which is kept with the evidence: write the key outside it, such as ~/.config/collect/", abs, matterDir)
		}
	}
	top, inGit, err := store.GitWorkTree(dir)
	if err != nil {
		return err
	}
	if inGit {
		return fmt.Errorf("%s is inside the git work tree %s, where a commit would publish it: write the key outside it, such as ~/.config/collect/", abs, top)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("the folder %s does not exist: create it first (mode 0700)", dir)
	}
	return nil
}

// custodySigning is how apply signs its checkpoint: with the key from
// COLLECT_CUSTODY_KEY or the file COLLECT_CUSTODY_KEY_FILE names, which
// must match the matter's verifier key when the matter names one. With
// neither key nor verifier, checkpoints are unsigned.
func custodySigning(s *streams, m *config.Matter) (custody.Signing, error) {
	sign := custody.Signing{Origin: s.custodyOrigin(m)}
	key, file := s.getenv("COLLECT_CUSTODY_KEY"), s.getenv("COLLECT_CUSTODY_KEY_FILE")
	if key != "" && file != "" {
		return sign, errors.New("both COLLECT_CUSTODY_KEY and COLLECT_CUSTODY_KEY_FILE are set: set only one")
	}
	if file != "" {
		b, err := readKeyFile(file)
		if err != nil {
			return sign, err
		}
		key = string(b)
	}
	if key == "" {
		if m.Custody.Verifier != "" {
			return sign, fmt.Errorf("the matter's custody block names the verifier key %s, but no custody key is set, so the checkpoint "+
				"could not be signed: set COLLECT_CUSTODY_KEY_FILE to the file collect custody keygen wrote, or COLLECT_CUSTODY_KEY to the key", m.Custody.Verifier)
		}
		return sign, nil
	}
	signer, err := custody.NewSigner(key)
	if err != nil {
		return sign, err
	}
	if m.Custody.Verifier != "" {
		v, err := custody.NewVerifier(m.Custody.Verifier)
		if err != nil {
			return sign, err
		}
		if !custody.Matches(signer, v) {
			return sign, fmt.Errorf("the custody key (%s+%08x) is not the one of the matter's verifier key %s: set the key that "+
				"collect custody keygen made with it, or put this key's verifier in the matter's custody block", signer.Name(), signer.KeyHash(), m.Custody.Verifier)
		}
	}
	sign.Signer = signer
	return sign, nil
}

// readKeyFile reads a private custody key, refused when other users can
// read or change it.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the custody key file %s (COLLECT_CUSTODY_KEY_FILE): %v", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot read the custody key file %s: %v", path, err)
	}
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, fmt.Errorf("the custody key file %s can be read or changed by other users (mode %04o), so collect does not use it: "+
			"restrict it to its owner with chmod 600 %s", path, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return nil, fmt.Errorf("cannot read the custody key file %s: %v", path, err)
	}
	return b, nil
}

// custodyCheck is what verify checks of the custody log: the output
// folder, the key, the origin.
type custodyCheck struct {
	dir, verifier, origin string
	running               bool
	held                  []string // checkpoints kept elsewhere
}

// checkCustody runs the custody verification, as part of verify or alone.
func checkCustody(c custodyCheck) (*custodyReport, error) {
	rep, err := custody.Verify(c.dir, custody.VerifyOptions{Verifier: c.verifier, Origin: c.origin, Running: c.running, Held: c.held})
	if err != nil {
		return nil, err
	}
	out := &custodyReport{Report: rep, Problems: []string{}}
	for _, p := range rep.Problems {
		out.Problems = append(out.Problems, p.String())
	}
	return out, nil
}

// runVerifyCustody is verify -custody: the natives against the manifest
// and the custody log, from the output folder alone (with -output) or the
// matter's, without the state.
func runVerifyCustody(s *streams, opts Verify, v verifyView) int {
	c := custodyCheck{dir: opts.Output, verifier: opts.Verifier, held: opts.Checkpoints}
	if c.dir == "" {
		m := loadMatterToRead(s, opts.Vars)
		if m == nil {
			v.Failed()
			return exitError
		}
		if m.Backend.Type != "" {
			s.errorf("verify -custody reads an output folder", "The collection is kept in a %s backend, not in an output folder. "+
				"Run collect verify: it checks the custody log of every shard with the natives and the state.", m.Backend.Type)
			v.Failed()
			return exitError
		}
		c.dir, c.origin = m.Output.Path, s.custodyOrigin(m)
		if c.verifier == "" {
			c.verifier = m.Custody.Verifier
		}
	}
	if fi, err := os.Stat(filepath.Join(c.dir, store.ManifestFile)); err != nil || !fi.Mode().IsRegular() {
		s.errorf("No collection to verify", "%s holds no %s: name the output folder of a collection.", c.dir, store.ManifestFile)
		v.Failed()
		return exitError
	}
	rep, err := store.Verify(context.Background(), c.dir, manifestEntries(c.dir), store.VerifyOptions{})
	if err == nil {
		var cr *custodyReport
		if cr, err = checkCustody(c); err == nil {
			out := verifyReport{
				Items: rep.Items, Natives: rep.Natives, Verified: rep.Verified, Bytes: rep.Bytes,
				Missing: nonNil(rep.Missing), Unexpected: nonNil(rep.Unexpected), LeftoverTemps: nonNil(rep.LeftoverTemps),
				State: []string{}, Changed: []string{}, Manifest: nonNil(rep.State), Custody: cr, CustodyOnly: true,
			}
			for _, ch := range rep.Changed {
				// What a native should be comes from its manifest line here.
				out.Changed = append(out.Changed, strings.ReplaceAll(ch.String(), ", the state says ", ", the manifest says "))
			}
			// Without the state, the manifest's own consistency (a seq
			// twice, one native with two sizes) is a manifest problem.
			out.OK = len(rep.Missing) == 0 && len(rep.Changed) == 0 && len(rep.Unexpected) == 0 && len(rep.State) == 0 && cr.OK()
			v.Report(out)
			if !out.OK {
				return exitVerify
			}
			return exitOK
		}
	}
	s.errorf("Cannot verify", "%s", sentence(err.Error()))
	v.Failed()
	return exitError
}

// manifestEntries yields the manifest's own lines as what the natives
// must be: without the state, the manifest says what was collected, and
// the custody log vouches for the manifest.
func manifestEntries(dir string) iter.Seq[store.ManifestEntry] {
	return func(yield func(store.ManifestEntry) bool) {
		stop := errors.New("stop")
		store.ReadManifest(filepath.Join(dir, store.ManifestFile), func(e store.ManifestEntry) error {
			if !yield(e) {
				return stop
			}
			return nil
		})
	}
}
