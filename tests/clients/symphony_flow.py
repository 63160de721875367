"""Drives the real Symphony BDK (symphony-bdk-python 3.0.0) against sessiond.

Usage: python symphony_flow.py '{"host","port","ca","keys","bot_user","bot_id",
                                 "app","ext_app","no_basic_app"}'
Prints one JSON document with what the BDK returned; any unexpected error ends the script
with a traceback and a non-zero status.
"""
import asyncio
import json
import sys
import time

from symphony.bdk.core.auth.exception import AuthUnauthorizedError
from symphony.bdk.core.client.api_client_factory import ApiClientFactory
from symphony.bdk.core.config.loader import BdkConfigLoader
from symphony.bdk.core.service.session.session_service import OboSessionService
from symphony.bdk.core.symphony_bdk import SymphonyBdk
from symphony.bdk.gen.exceptions import ApiException
from symphony.bdk.gen.pod_api.session_api import SessionApi

args = json.loads(sys.argv[1])


def config(bot_key=None, app=None):
    c = {"host": args["host"], "port": int(args["port"]),
         "ssl": {"trustStore": {"path": args["ca"]}},
         "retry": {"maxAttempts": 2, "initialIntervalMillis": 50, "maxIntervalMillis": 100}}
    if bot_key:
        c["bot"] = {"username": args["bot_user"], "privateKey": {"path": f"{args['keys']}/{bot_key}"}}
    if app:
        c["app"] = {"appId": app, "privateKey": {"path": f"{args['keys']}/app.key"}}
    return BdkConfigLoader.load_from_content(json.dumps(c))


async def obo_session_info(app, **who):
    """The BDK's own OBO session service, as BDK 3.0.0 offers it."""
    cfg = config(app=app)
    async with SymphonyBdk(cfg) as bdk:
        obo = bdk.obo(**who)
        factory = ApiClientFactory(cfg)
        try:
            service = OboSessionService(SessionApi(factory.get_pod_client()), obo, cfg.retry)
            return (await service.get_session()).to_dict()
        finally:
            await factory.close_clients()


async def main():
    out = {}
    async with SymphonyBdk(config(bot_key="bot.key")) as bdk:
        out["bot"] = (await bdk.sessions().get_session()).to_dict()
        out["bot_again"] = (await bdk.sessions().get_session()).to_dict()["id"]
        out["key_manager_token"] = bool(await bdk.bot_session().key_manager_token)

    out["obo_by_id"] = await obo_session_info(args["app"], user_id=int(args["bot_id"]))
    out["obo_by_username"] = await obo_session_info(args["app"], username=args["bot_user"])
    out["obo_extended"] = await obo_session_info(args["ext_app"], user_id=int(args["bot_id"]))

    try:
        await obo_session_info(args["no_basic_app"], user_id=int(args["bot_id"]))
        out["no_basic"] = "allowed"
    except ApiException as e:
        out["no_basic"] = e.status

    started = time.monotonic()
    try:
        async with SymphonyBdk(config(bot_key="other.key")) as bdk:
            await bdk.sessions().get_session()
        out["wrong_key"] = "accepted"
    except AuthUnauthorizedError as e:
        out["wrong_key"] = type(e).__name__
    out["wrong_key_seconds"] = round(time.monotonic() - started, 2)
    print(json.dumps(out, default=str))


asyncio.run(main())
