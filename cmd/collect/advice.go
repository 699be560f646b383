package main

import (
	"errors"
	"fmt"

	"github.com/collect-ediscovery/collect/config"
	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/graph/entra"
	"github.com/collect-ediscovery/collect/graph/graphsim"
)

// adviceFacts are the names an advice sentence fills in. Any may be
// empty; the sentence then says it in general terms.
type adviceFacts struct {
	Mailbox    string // the mailbox address, as resolved when it was
	User       string // who signed in, for a delegated sign-in
	Delegated  bool   // a person signed in (auth = "device_code"), not an app
	Auth       string // the tenant block's auth mode
	Tenant     string
	ClientID   string
	ConsentURL string // where an administrator grants the app's permissions
	RequestID  string // what Microsoft support asks for
}

func (f adviceFacts) app() string {
	if f.ClientID == "" {
		return "the app"
	}
	return "app " + f.ClientID
}

func (f adviceFacts) tenant() string {
	if f.Tenant == "" {
		return "the tenant"
	}
	return "tenant " + f.Tenant
}

func (f adviceFacts) mailbox() string {
	if f.Mailbox == "" {
		return "the mailbox"
	}
	return f.Mailbox
}

func (f adviceFacts) consentAt() string {
	if f.ConsentURL == "" {
		return "in the Entra admin center (Enterprise applications > Permissions)"
	}
	return "at " + f.ConsentURL
}

// adviceTable is every sentence collect says about what to do when Graph
// or Entra ID refuses: one per kind, chosen by kind and filled with facts.
// Sources and sign-in return facts only; nothing else writes advice.
var adviceTable = map[graph.Kind]func(f adviceFacts) string{
	graph.KindOther: func(f adviceFacts) string {
		if f.RequestID != "" {
			return "Run the command again; if it fails the same way, give Microsoft support the request ID."
		}
		return "Run the command again; if it fails the same way, run it with COLLECT_LOG=debug and keep the log for support."
	},
	graph.KindThrottled: func(adviceFacts) string {
		return "Microsoft Graph kept throttling after collect's retries: wait a few minutes, or lower mailbox_concurrency in the tenant block, and run the command again."
	},
	graph.KindTransient: func(adviceFacts) string {
		return "Microsoft Graph or the network kept failing after collect's retries: run the command again, which continues where this one stopped."
	},
	graph.KindTokenExpired: func(f adviceFacts) string {
		return fmt.Sprintf("Graph refused even a renewed access token: check this computer's clock and that %s still exists in %s, then run collect doctor.", f.app(), f.tenant())
	},
	graph.KindAccessDenied: func(f adviceFacts) string {
		switch {
		case f.Mailbox == "":
			return fmt.Sprintf("Give %s the Microsoft Graph permissions collect needs (Mail.Read and User.Read.All) and have an administrator grant admin consent %s.", f.app(), f.consentAt())
		case f.Delegated:
			user := f.User
			if user == "" {
				user = "the signed-in user"
			}
			return fmt.Sprintf("Ask the Exchange admin to grant %s Full Access delegation on %s (Add-MailboxPermission -Identity %s -User %s "+
				"-AccessRights FullAccess -AutoMapping $false); it can take up to 24 hours to apply.", user, f.Mailbox, f.Mailbox, user)
		}
		if f.ClientID == "" {
			// Who collects is not known (a saved plan shown on its own).
			return fmt.Sprintf("Ask the Exchange admin to grant the collecting account Full Access delegation on %s, or to include it in "+
				"the app's application access policy; it can take up to 24 hours to apply.", f.Mailbox)
		}
		return fmt.Sprintf("Ask the Exchange admin to include %s in the application access policy (or RBAC for Applications scope) of %s, "+
			"for example by adding it to the policy's mail-enabled security group, and check with Test-ApplicationAccessPolicy -Identity %s "+
			"-AppId %s; it can take up to 24 hours to apply.", f.Mailbox, f.app(), f.Mailbox, f.ClientID)
	},
	graph.KindMailboxNotEnabled: func(f adviceFacts) string {
		return fmt.Sprintf("Collect %s with Microsoft Purview or the on-premises tools instead, and remove it from the matter or leave it out of plan and apply with -target.", f.mailbox())
	},
	graph.KindNotFound: func(f adviceFacts) string {
		if f.Mailbox == "" {
			return "Run collect plan again: what it names changed on the server since it was read."
		}
		return fmt.Sprintf("Check the spelling of %s in the matter: it must be a UPN, the primary address or one of the mailbox's smtp: proxy addresses, of an account that was not deleted or renamed.", f.Mailbox)
	},
	graph.KindSyncStateGone: func(adviceFacts) string {
		return "Run collect plan again: the server dropped its record of a folder's changes, and the next plan reads the folder afresh."
	},
	graph.KindQuotaExceeded: func(f adviceFacts) string {
		return fmt.Sprintf("Ask the Exchange admin to raise the storage quota of %s or free space in it, then plan again.", f.mailbox())
	},
	graph.KindMalformedID: func(adviceFacts) string {
		return "Run collect plan again to read the IDs afresh; if Graph refuses them again, give Microsoft support the request ID."
	},
	graph.KindCanceled: func(adviceFacts) string {
		return "Run the command again to continue: what was recorded is kept."
	},
	graph.KindAmbiguousAddress: func(f adviceFacts) string {
		return fmt.Sprintf("Name the mailbox in the matter by its UPN instead of %s.", f.mailbox())
	},
	graph.KindConsentRequired: func(f adviceFacts) string {
		return fmt.Sprintf("A Global Administrator or Privileged Role Administrator of %s must grant admin consent %s for %s, then run the command again.", f.tenant(), f.consentAt(), f.app())
	},
	graph.KindAppNotInTenant: func(f adviceFacts) string {
		return fmt.Sprintf("Check client_id and tenant_id in the tenant block, that %s was registered in %s, and that cloud names the right Microsoft cloud.", f.app(), f.tenant())
	},
	graph.KindTenantNotFound: func(f adviceFacts) string {
		return fmt.Sprintf("Check tenant_id and cloud in the tenant block: %s was not found in this Microsoft cloud.", f.tenant())
	},
	graph.KindSecretRefused: func(f adviceFacts) string {
		return fmt.Sprintf("Put the Value (not the Secret ID) of a current client secret of %s in COLLECT_CLIENT_SECRET, creating one under Certificates & secrets if it was deleted.", f.app())
	},
	graph.KindSecretExpired: func(f adviceFacts) string {
		return fmt.Sprintf("Create a new client secret for %s under Certificates & secrets and put its Value in COLLECT_CLIENT_SECRET.", f.app())
	},
	graph.KindPublicClientDisabled: func(f adviceFacts) string {
		return fmt.Sprintf("Turn on \"Allow public client flows\" on the Authentication page of %s's registration, which auth = \"device_code\" needs.", f.app())
	},
	graph.KindForeignAccount: func(f adviceFacts) string {
		return fmt.Sprintf("Run collect login again and sign in with an account of %s (or correct tenant_id): the account used belongs to another tenant and is no guest in this one.", f.tenant())
	},
	graph.KindAssertionExpired: func(f adviceFacts) string {
		if f.Auth == "client_certificate" {
			return "Set this computer's clock right: the certificate assertion collect signed is outside its valid time range."
		}
		return "The file COLLECT_FEDERATED_TOKEN_FILE names must hold a fresh token from the CI's identity provider: have the CI fetch one shortly before collect runs, as such tokens last minutes."
	},
	graph.KindCertificateRefused: func(f adviceFacts) string {
		return fmt.Sprintf("Upload the public certificate of certificate_path to %s under Certificates & secrets, check that the key in the file belongs to it, and that tenant_id names the app's tenant.", f.app())
	},
	graph.KindNoFederatedCredential: func(f adviceFacts) string {
		return fmt.Sprintf("Add a federated credential to %s under Certificates & secrets > Federated credentials with the issuer and subject of your CI "+
			"(for GitHub Actions https://token.actions.githubusercontent.com and repo:OWNER/REPO:environment:NAME) and the audience api://AzureADTokenExchange.", f.app())
	},
	graph.KindFederatedTokenFile: func(adviceFacts) string {
		return "Have the CI step that writes the OIDC token run before collect, writing the raw token and nothing else to the file COLLECT_FEDERATED_TOKEN_FILE names."
	},
	graph.KindLoginRequired: func(f adviceFacts) string {
		return fmt.Sprintf("Sign in to %s as a person: run collect login.", f.tenant())
	},
	graph.KindTokenCacheUnsafe: func(adviceFacts) string {
		return "Remove the cached sign-in with collect logout and run collect login again, or restrict the file to yourself with chmod 600."
	},
	graph.KindDeviceCodeDeclined: func(adviceFacts) string {
		return "Accept the sign-in at the prompt: run collect login again."
	},
	graph.KindDeviceCodeExpired: func(adviceFacts) string {
		return "Enter the code before it expires: run collect login again."
	},
	graph.KindMFARequired: func(adviceFacts) string {
		return "Run collect login and complete in the browser the multi-factor authentication that the tenant's Conditional Access asks for."
	},
	graph.KindConditionalAccess: func(f adviceFacts) string {
		return fmt.Sprintf("Ask the administrator of %s to let %s, this device or this location through the Conditional Access policy that blocked the sign-in.", f.tenant(), f.app())
	},
	graph.KindSignInRefused: func(f adviceFacts) string {
		if f.Auth == "device_code" {
			return "Run collect login again; if Entra ID refuses again, give your administrator the AADSTS code and trace ID."
		}
		return "Check tenant_id, client_id and cloud in the tenant block and the app's credentials in the environment; if they are right, give your administrator the AADSTS code and trace ID."
	},
}

// adviceFor is the sentence for a kind.
func adviceFor(k graph.Kind, f adviceFacts) string {
	fn, ok := adviceTable[k]
	if !ok {
		fn = adviceTable[graph.KindOther]
	}
	return fn(f)
}

// advise is the sentence for err, or "" when err is none of Graph's or
// Entra ID's: collect's own errors (an invalid setting, a missing
// variable) say what to do themselves.
func advise(err error, f adviceFacts) string {
	var ge *graph.Error
	if !errors.As(err, &ge) {
		return ""
	}
	if f.RequestID == "" {
		f.RequestID = ge.RequestID
	}
	return adviceFor(ge.Kind, f)
}

// problem is the one message for err: what happened, then what to do.
func problem(err error, f adviceFacts) string {
	msg := sentence(err.Error())
	if a := advise(err, f); a != "" {
		msg += " " + a
	}
	return msg
}

// tenantFacts are the facts of the matter's tenant block, known before
// anyone signs in.
func tenantFacts(s *streams, t config.Tenant) adviceFacts {
	f := adviceFacts{Auth: t.Auth, Delegated: t.Auth == "device_code", Tenant: t.TenantID, ClientID: t.ClientID}
	var a entra.Authority
	if t.Demo() {
		a = entra.Authority{LoginURL: demoBaseURL, Tenant: graphsim.DemoTenantID, ClientID: graphsim.DemoClientID}
	} else if target, err := resolveTenant(s, t); err == nil {
		a = target.authority
	} else {
		return f
	}
	f.Tenant, f.ClientID, f.ConsentURL = a.Tenant, a.ClientID, a.AdminConsentURL()
	return f
}

// facts are the tenant's facts with who signed in.
func (c *connection) facts(t config.Tenant) adviceFacts {
	f := adviceFacts{Auth: t.Auth, Delegated: c.token.Delegated, User: c.token.User,
		Tenant: c.authority.Tenant, ClientID: c.authority.ClientID, ConsentURL: c.authority.AdminConsentURL()}
	if f.Tenant == "" {
		f.Tenant, f.ClientID = t.TenantID, t.ClientID
	}
	return f
}
