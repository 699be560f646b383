package main

import (
	"fmt"
	"time"

	"github.com/collect-ediscovery/collect/config"
	"github.com/collect-ediscovery/collect/graph/entra"
	"github.com/hashicorp/hcl/v2"
)

const loginHelp = `Usage: collect [global options] login [options]

  Signs in a person for a matter whose tenant block has
  auth = "device_code": prints a code and a web address; open the address
  in a browser on any device (this works over SSH and in containers),
  enter the code and sign in. collect asks for the delegated permissions
  openid profile email offline_access User.Read User.Read.All Mail.Read
  Mail.Read.Shared, and keeps the refresh token, and only it, in the user's
  cache folder (COLLECT_CACHE_DIR, or collect/ in the user cache folder),
  readable by this user only. Later commands sign in silently with it.

Options:
  -var 'name=value'  Set a variable. Repeatable.
  -var-file=FILE     Set variables from a file.
`

const logoutHelp = `Usage: collect [global options] logout [options]

  Removes the cached sign-in of the matter's tenant and app from this
  computer. The refresh token stays valid at Microsoft until it expires or
  an administrator revokes the user's sessions.

Options:
  -var 'name=value'  Set a variable. Repeatable.
  -var-file=FILE     Set variables from a file.
`

func parseVarsOnly(name string, args []string) ([]config.VarOption, hcl.Diagnostics) {
	var vars []config.VarOption
	fs := newFlagSet(name)
	addVarFlags(fs, &vars)
	if diags := parseFlags(fs, args); diags.HasErrors() {
		return nil, diags
	}
	if fs.NArg() > 0 {
		return nil, errorDiag("Unexpected arguments", fmt.Sprintf("collect %s takes no arguments; run collect %s -help.", name, name))
	}
	return vars, nil
}

// deviceCodeMatter loads the matter and checks it signs in with device code.
func deviceCodeMatter(s *streams, cmd string, args []string) (*config.Matter, signInTarget, bool) {
	vars, diags := parseVarsOnly(cmd, args)
	if diags.HasErrors() {
		s.writeDiags(diags, nil)
		return nil, signInTarget{}, false
	}
	m := loadMatterToRead(s, vars)
	if m == nil {
		return nil, signInTarget{}, false
	}
	if m.Tenant.Demo() {
		s.errorf("Nothing to sign in to", "The matter uses the demo tenant, which needs no sign-in.")
		return nil, signInTarget{}, false
	}
	if m.Tenant.Auth != "device_code" {
		s.errorf("collect "+cmd+" is for auth = \"device_code\"",
			"This matter signs in as an app (auth = %q), with credentials from the environment; there is no user sign-in to %s. "+
				"To collect as a person, set auth = \"device_code\" in the tenant block.", m.Tenant.Auth, map[string]string{"login": "make", "logout": "remove"}[cmd])
		return nil, signInTarget{}, false
	}
	target, err := resolveTenant(s, m.Tenant)
	if err != nil {
		s.errorf("Cannot sign in", "%s", sentence(err.Error()))
		return nil, signInTarget{}, false
	}
	return m, target, true
}

func runLogin(s *streams, args []string) int {
	m, target, ok := deviceCodeMatter(s, "login", args)
	if !ok {
		return exitError
	}
	cache := tokenCache(s)
	if cache.Dir == "" {
		s.errorf("No cache folder", "collect cannot find the user's cache folder to keep the sign-in in: set COLLECT_CACHE_DIR to a folder only you can read.")
		return exitError
	}
	ctx, stop := interruptible(s, "Interrupted: the sign-in was not finished.")
	defer stop()
	a := target.authority
	tok, account, err := entra.DeviceLogin(ctx, a, func(p entra.DeviceCodePrompt) {
		fmt.Fprintf(s.stdout, "To sign in to tenant %s, open %s in a browser on any device and enter the code %s\n",
			m.Tenant.TenantID, p.VerificationURI, p.UserCode)
		fmt.Fprintf(s.stdout, "(the code expires at %s). Waiting for the sign-in...\n", p.ExpiresAt.Local().Format("15:04:05"))
	})
	if err != nil {
		s.errorf("Sign-in failed", "%s", problem(err, s.advice))
		return exitError
	}
	if account == "" {
		account = "(unknown account)"
	}
	if prev, err := cache.Load(a); err == nil && prev.Account != account {
		fmt.Fprintf(s.stdout, "This replaces the sign-in of %s for this tenant and app.\n", prev.Account)
	}
	if err := cache.Save(a, entra.CachedSignIn{
		LoginURL: a.LoginURL, Tenant: a.Tenant, ClientID: a.ClientID, Account: account,
		RefreshToken: tok.RefreshToken, SavedAt: time.Now().UTC(),
	}); err != nil {
		s.errorf("Cannot keep the sign-in", "%s", sentence(err.Error()))
		return exitError
	}
	fmt.Fprintf(s.stdout, "Signed in as %s (tenant %s, app %s).\n", account, m.Tenant.TenantID, m.Tenant.ClientID)
	fmt.Fprintf(s.stdout, "The sign-in is kept in %s, readable only by you; run collect logout to remove it.\n", cache.Path(a))
	return exitOK
}

func runLogout(s *streams, args []string) int {
	_, target, ok := deviceCodeMatter(s, "logout", args)
	if !ok {
		return exitError
	}
	cache := tokenCache(s)
	removed, err := cache.Remove(target.authority)
	if err != nil {
		s.errorf("Cannot remove the sign-in", "%s", sentence(err.Error()))
		return exitError
	}
	if !removed {
		fmt.Fprintln(s.stdout, "Not signed in: there was no cached sign-in for this tenant and app.")
		return exitOK
	}
	fmt.Fprintln(s.stdout, "Signed out: the cached sign-in was removed from this computer.")
	return exitOK
}
