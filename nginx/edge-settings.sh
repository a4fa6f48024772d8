# edge-settings.sh: the edge's settings as nginx.conf.in's placeholders take
# them, for every renderer of the template (k8s/edge/render-nginx.sh for the
# Kubernetes image; tests/stack.sh renders the local stack's config), so that
# a setting is checked and written the same way wherever it is used.
# Sourced by bash; defines functions only: edge_settings_check, then
# edge_settings_fill (or its parts edge_cors_origins and edge_real_ip).
#
# The settings, from the environment: EDGE_RATE_AUTH, EDGE_RATE_MONEY (a rate
# like 50r/s or 30r/m), EDGE_BURST_AUTH, EDGE_BURST_MONEY (a count from 1
# up), EDGE_TRUSTED_PROXIES (space-separated addresses or CIDRs of the
# proxies whose X-Forwarded-For names the client), EDGE_CORS_ORIGINS
# (space-separated origins allowed to call the APIs from a browser).

# edge_settings_check: prints what is wrong with the first bad setting and
# fails; silent when all are good.
edge_settings_check()
{
	local v o
	for v in EDGE_RATE_AUTH EDGE_RATE_MONEY; do
		[[ ${!v-} =~ ^[1-9][0-9]*r/[sm]$ ]] || {
			echo "$v must look like 50r/s or 30r/m, not '${!v-}'"
			return 1
		}
	done
	for v in EDGE_BURST_AUTH EDGE_BURST_MONEY; do
		[[ ${!v-} =~ ^[1-9][0-9]*$ ]] || {
			echo "$v must be a number from 1 up, not '${!v-}'"
			return 1
		}
	done
	for o in ${EDGE_TRUSTED_PROXIES-}; do
		[[ $o =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}(/[0-9]{1,2})?$ ||
		    $o =~ ^[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*(/[0-9]{1,3})?$ ]] || {
			echo "EDGE_TRUSTED_PROXIES: '$o' is not an address or CIDR like 10.0.0.0/8"
			return 1
		}
	done
	for o in ${EDGE_CORS_ORIGINS-}; do
		[[ $o =~ ^https?://[A-Za-z0-9.-]+(:[0-9]+)?$ ]] || {
			echo "EDGE_CORS_ORIGINS: '$o' is not an origin like https://app.example.com"
			return 1
		}
	done
	return 0
}

# edge_cors_origins: @CORS_ORIGINS@, the entries of the map of allowed
# origins (one line each; nothing when there are none).
edge_cors_origins()
{
	local o
	for o in ${EDGE_CORS_ORIGINS-}; do
		printf '\t\t"%s"\t1;\n' "$o"
	done
}

# edge_real_ip: @REAL_IP@, nginx's realip directives for the trusted
# proxies, or a comment saying the peer is the client.
edge_real_ip()
{
	local o out=''
	for o in ${EDGE_TRUSTED_PROXIES-}; do
		out+="set_real_ip_from $o;"$'\n\t'
	done
	if [ -n "$out" ]; then
		printf '%sreal_ip_header X-Forwarded-For;\n\treal_ip_recursive on;\n' "$out"
	else
		echo "# No trusted proxies (EDGE_TRUSTED_PROXIES): the peer is the client."
	fi
}

# edge_settings_fill TEMPLATE [NO_CORS]: prints TEMPLATE with the edge
# settings' placeholders (@RATE_AUTH@, @BURST_AUTH@, @RATE_MONEY@,
# @BURST_MONEY@, @CORS_ORIGINS@, @REAL_IP@) filled in; @CORS_ORIGINS@ gets
# NO_CORS (a comment, or nothing) when no origin is allowed.
edge_settings_fill()
{
	local t=$1 cors
	cors=$(edge_cors_origins)
	[ -n "$cors" ] || cors=${2-}
	t=${t//@RATE_AUTH@/"$EDGE_RATE_AUTH"}
	t=${t//@BURST_AUTH@/"$EDGE_BURST_AUTH"}
	t=${t//@RATE_MONEY@/"$EDGE_RATE_MONEY"}
	t=${t//@BURST_MONEY@/"$EDGE_BURST_MONEY"}
	t=${t//@CORS_ORIGINS@/"$cors"}
	t=${t//@REAL_IP@/"$(edge_real_ip)"}
	printf '%s\n' "$t"
}
